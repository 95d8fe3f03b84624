/** Stops the dev server the global setup started (once, though two tiers name this teardown). */
export default async function globalTeardown(): Promise<void> {
  const env = globalThis.__dbReleaseTemporal;
  globalThis.__dbReleaseTemporal = undefined;
  await env?.teardown();
}
