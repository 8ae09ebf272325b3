// Watches whether the engine answers: /ready every 2 seconds. When it stops answering, a banner
// says so (the figures on the page are then from before); when it answers again, the banner goes
// and the page reloads what it shows.
import { reach } from './engineApi.js';

const CHECK_EVERY_MS = 2_000;
const CHECK_TIMEOUT_MS = 1_500;

const clock = (date) => date.toLocaleTimeString('en-GB');

export class Connection {
  constructor({ banner, pill, onRecovered }) {
    Object.assign(this, { banner, pill, onRecovered });
    this.downSince = null;
  }

  start() {
    this.check();
    setInterval(() => this.check(), CHECK_EVERY_MS);
  }

  async check() {
    try {
      const response = await reach('/ready', { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
      const body = await response.json().catch(() => null);
      this.answered(response.ok ? null : (body?.error?.message ?? `/ready answered ${response.status}`));
    } catch {
      this.unreachable();
    }
  }

  /** Any call that got no answer reports it here, so the banner does not wait for the next check. */
  unreachable() {
    if (this.downSince) return;
    this.downSince = new Date();
    this.pill.textContent = 'Unreachable';
    this.pill.dataset.state = 'down';
    this.banner.textContent = `The engine does not answer since ${clock(this.downSince)}. What this page shows is from before then; it checks again every ${CHECK_EVERY_MS / 1000} seconds and catches up by itself.`;
    this.banner.hidden = false;
  }

  answered(notReadyReason) {
    const wasDown = this.downSince !== null;
    this.downSince = null;
    this.banner.hidden = true;
    this.pill.textContent = notReadyReason ? `Not ready: ${notReadyReason}` : 'Ready';
    this.pill.dataset.state = notReadyReason ? 'degraded' : 'up';
    if (wasDown) this.onRecovered();
  }
}
