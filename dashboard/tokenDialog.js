// Asks for the admin token: once when the tab has none, and again when the engine refuses it.
import { adminToken } from './engineApi.js';

export class TokenDialog {
  constructor({ dialog, form, input, error, cancel, forget, button, onToken }) {
    Object.assign(this, { dialog, input, error, button, onToken });
    this.waiting = [];
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      adminToken.set(token);
      input.value = '';
      dialog.close();
      this.showState();
      const waiting = this.waiting.splice(0);
      onToken();
      for (const action of waiting) action();
    });
    cancel.addEventListener('click', () => {
      this.waiting = [];
      dialog.close();
    });
    forget.addEventListener('click', () => {
      adminToken.forget();
      this.showState();
      this.error.textContent = '';
    });
    button.addEventListener('click', () => this.ask());
    this.showState();
  }

  showState() {
    this.button.textContent = adminToken.get() ? 'Change admin token' : 'Enter admin token';
  }

  /** Opens the dialog, with `problem` (why the last token failed) shown when given. */
  ask(problem = '') {
    this.error.textContent = problem;
    if (!this.dialog.open) this.dialog.showModal();
    this.input.focus();
  }

  /** Runs `action` now when the tab has a token, else once one is entered. */
  whenAuthorised(action) {
    if (adminToken.get()) return action();
    this.waiting.push(action);
    this.ask();
  }
}
