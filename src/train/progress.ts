// Progress: on a terminal, one bar line redrawn in place (epoch, step, it/s, ETA, losses); off a
// terminal, plain log lines only. The tutorial's loss line is printed either way.

export interface ProgressState {
  step: number;
  totalSteps: number;
  epoch: number;
  epochs: number;
  dLoss: number;
  gLoss: number;
  itPerSec: number;
}

const clock = (s: number) => {
  if (!Number.isFinite(s)) return "--:--";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return `${h ? `${h}:` : ""}${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
};

export class Progress {
  #drawn = false;
  constructor(
    readonly stream: NodeJS.WriteStream = process.stdout,
    readonly interactive = Boolean(process.stdout.isTTY) && !process.env.CI,
  ) {}

  /** A line that stays (log lines, warnings); the bar is redrawn below it. */
  line(text: string): void {
    if (this.#drawn) this.stream.write("\r\x1b[2K");
    this.stream.write(`${text}\n`);
    this.#drawn = false;
  }

  bar(s: ProgressState): void {
    if (!this.interactive) return;
    const width = 24;
    const done = Math.min(width, Math.round((s.step / s.totalSteps) * width));
    const eta = (s.totalSteps - s.step) / s.itPerSec;
    const text =
      `[${"#".repeat(done)}${".".repeat(width - done)}] epoch ${s.epoch}/${s.epochs} step ${s.step}/${s.totalSteps} ` +
      `${s.itPerSec.toFixed(1)} it/s ETA ${clock(eta)} D ${s.dLoss.toFixed(3)} G ${s.gLoss.toFixed(3)}`;
    this.stream.write(`\r\x1b[2K${text}`);
    this.#drawn = true;
  }

  end(): void {
    if (this.#drawn) this.stream.write("\n");
    this.#drawn = false;
  }
}
