/**
 * The warm-up indicator: a line redrawn in place on a terminal, milestones on separate lines otherwise
 * (a pipe, a CI log), so both stay readable.
 */
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Progress {
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  #frame = 0;
  #lastMilestone = -1;
  #drawn = false;

  constructor(out: NodeJS.WriteStream = process.stdout) {
    this.#out = out;
    this.#tty = out.isTTY === true && process.env.TERM !== 'dumb';
  }

  /** A step of unknown length (`⠹ Warming up: opening 50 connections... 0.4 s`). */
  spin(text: string): void {
    if (!this.#tty) return;
    this.#draw(`${SPINNER[this.#frame++ % SPINNER.length]} ${text}`);
  }

  /** A step of known length, `fraction` from 0 to 1 (`Warming up [######------] 50% ...`). */
  bar(fraction: number, text: string): void {
    const f = Math.min(1, Math.max(0, fraction));
    const percent = Math.floor(f * 100);
    if (this.#tty) {
      const width = 24;
      const filled = Math.round(f * width);
      this.#draw(`Warming up [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(percent).padStart(3)}% ${text}`);
      return;
    }
    const milestone = Math.floor(percent / 25) * 25;
    if (milestone > this.#lastMilestone) {
      this.#lastMilestone = milestone;
      this.#out.write(`Warming up: ${milestone}% ${text}\n`);
    }
  }

  /** Ends the indicator with a line that stays. */
  done(text: string): void {
    if (this.#tty && this.#drawn) this.#out.write('\r\x1b[2K');
    this.#drawn = false;
    this.#out.write(`${text}\n`);
  }

  #draw(line: string): void {
    this.#out.write(`\r\x1b[2K${line}`);
    this.#drawn = true;
  }
}
