/** Whose data a store call touches. Every query that reads or writes user data takes one. */
export interface Owner {
  userId: string;
  accountId: string;
}
