// The config the benchmarks start our server with (CHATKIT_CONFIG): one agent on the fake
// upstream (OPENAI_BASE_URL and OPENAI_API_KEY come from the environment), every other key at its
// default, as a user would run it, but the per-user and box-wide stream limits: one benchmark user
// opens up to 1,000 streams at once, which a box would otherwise refuse with 429. An app's
// tokens (HS256, BENCH_JWT in bench/support/seed-data.ts) sign the lister in for the auth row.
import { defineConfig } from "../src/index.ts";
import { BENCH_JWT } from "./support/seed-data.ts";

export default defineConfig({
  agents: [{ id: "assistant", name: "Assistant", model: "bench-model", instructions: "You are a helpful assistant." }],
  limits: { streamsPerUser: 100_000, upstreamConcurrency: 100_000 },
  signIn: { jwt: [{ issuer: BENCH_JWT.issuer, audience: BENCH_JWT.audience, secret: BENCH_JWT.secret }] },
});
