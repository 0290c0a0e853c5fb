// What the browser tests share: Chromium as this machine runs it, and steps that name
// themselves in every log line and failure.
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const OUT_DIR = process.env.WARROOM_TEST_OUTPUT || '.test-output';
// The network here is closed: no first-run, update, sync or QUIC traffic from the browser.
export const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export class StepError extends Error {}

/** `log` prefixed with `name` and the seconds since start; `step` times out and names itself. */
export function harness(name) {
  const started = Date.now();
  const log = (msg) => console.log(`[${name} ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
  async function step(what, timeoutMs, fn) {
    log(`${what}…`);
    try {
      return await fn(timeoutMs);
    } catch (e) {
      const why = e instanceof StepError ? e.message : (e && e.name === 'TimeoutError' ? `not done within ${timeoutMs / 1000} s` : String(e && e.message || e));
      throw new StepError(`${what}: ${why}`);
    }
  }
  return { log, step };
}

export function requireChromium() {
  if (!existsSync(CHROMIUM)) throw new StepError(`${CHROMIUM} not found: apt-get install chromium`);
}
