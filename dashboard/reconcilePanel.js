// The reconciler's last passes, its two buttons (a pass, a pass with repair), and the dead letters.
import { callJson } from './engineApi.js';

const RUNS_SHOWN = 10;
const DEAD_LETTERS_SHOWN = 20;

const time = (iso) => new Date(iso).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' });

function row(cells) {
  const tr = document.createElement('tr');
  for (const { text, className } of cells) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    tr.append(td);
  }
  return tr;
}

function driftText(run) {
  if (run.drift.length === 0) return 'none';
  const fields = run.drift.slice(0, 3).map((d) => `${d.sku}${d.location ? `@${d.location}` : ''} ${d.field}: Redis ${d.redis ?? 'missing'}, Postgres ${d.postgres}`);
  const more = run.drift.length > 3 ? ` and ${run.drift.length - 3} more` : '';
  return `${run.drift.length} field${run.drift.length === 1 ? '' : 's'}${run.repaired ? ' (repaired)' : ''}: ${fields.join('; ')}${more}`;
}

export class ReconcilePanel {
  constructor({ runsBody, runsMessage, deadBody, deadMessage, passButton, repairButton, onError, whenAuthorised }) {
    Object.assign(this, { runsBody, runsMessage, deadBody, deadMessage, onError });
    passButton.addEventListener('click', () => whenAuthorised(() => this.run(false, [passButton, repairButton])));
    repairButton.addEventListener('click', () => whenAuthorised(() => this.run(true, [passButton, repairButton])));
  }

  async refresh() {
    await Promise.all([this.loadRuns(), this.loadDeadLetters()]);
  }

  async loadRuns() {
    try {
      const { items } = await callJson(`/v1/admin/reconcile/runs?limit=${RUNS_SHOWN}`);
      this.runsBody.replaceChildren(
        ...items.map((run) =>
          row([
            { text: time(run.startedAt) },
            { text: run.trigger },
            { text: `${Date.parse(run.finishedAt) - Date.parse(run.startedAt)} ms`, className: 'num' },
            { text: String(run.expiredReleased), className: 'num' },
            { text: String(run.eventsWritten), className: 'num' },
            { text: driftText(run), className: run.drift.length ? 'attention' : '' },
            { text: run.error ? `failed: ${run.error}` : 'ok', className: run.error ? 'attention' : '' },
          ]),
        ),
      );
      // The message keeps the last pass's result; anything else it said is stale once runs load.
      if (items.length === 0) this.runsMessage.textContent = 'No pass has run yet.';
      else if (!this.runsMessage.dataset.result) this.runsMessage.textContent = '';
    } catch (error) {
      this.onError(error, this.runsMessage);
    }
  }

  async loadDeadLetters() {
    try {
      const { items } = await callJson(`/v1/admin/dead-letters?limit=${DEAD_LETTERS_SHOWN}`);
      this.deadBody.replaceChildren(
        ...items.map((letter) => row([{ text: time(letter.at) }, { text: String(letter.partition), className: 'num' }, { text: letter.entry, className: 'code' }, { text: letter.error }])),
      );
      this.deadMessage.textContent = items.length ? '' : 'None: Postgres has taken every outbox entry.';
    } catch (error) {
      this.onError(error, this.deadMessage);
    }
  }

  async run(repair, buttons) {
    for (const button of buttons) button.disabled = true;
    delete this.runsMessage.dataset.result;
    this.runsMessage.textContent = repair ? 'Running a pass with repair…' : 'Running a pass…';
    try {
      const report = await callJson('/v1/admin/reconcile', { method: 'POST', body: { repair } });
      this.runsMessage.dataset.result = 'yes';
      this.runsMessage.textContent = `Pass${repair ? ' with repair' : ''} finished at ${time(report.finishedAt)}: ${report.eventsWritten} events written, ${report.expiredReleased} expired holds released, drift ${driftText(report)}.`;
      await this.refresh();
    } catch (error) {
      this.onError(error, this.runsMessage);
    } finally {
      for (const button of buttons) button.disabled = false;
    }
  }
}
