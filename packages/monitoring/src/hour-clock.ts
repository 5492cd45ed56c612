import { InvalidConfigError } from '@pool/core';

/** Tells the hour of the day, and how long until the next hour starts, in one IANA time zone. */
export class HourClock {
  /** The resolved IANA time zone name. */
  readonly timeZone: string;
  readonly #format: Intl.DateTimeFormat;

  /** Throws `InvalidConfigError` for a time zone Intl does not know. */
  constructor(timeZone: string | undefined) {
    if (timeZone !== undefined && (typeof timeZone !== 'string' || timeZone.trim() === '')) {
      throw new InvalidConfigError('timeZone', timeZone, 'must be an IANA time zone name such as "UTC" or "Europe/Paris"');
    }
    try {
      this.#format = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new InvalidConfigError('timeZone', timeZone, 'is not a time zone this runtime knows (Intl.DateTimeFormat rejected it)');
    }
    this.timeZone = this.#format.resolvedOptions().timeZone;
  }

  /** The hour (0–23) at epoch ms `at`, and the ms until the next hour starts. */
  read(at: number): { hour: number; msToNextHour: number } {
    let hour = 0;
    let minute = 0;
    let second = 0;
    for (const part of this.#format.formatToParts(at)) {
      if (part.type === 'hour') hour = Number(part.value) % 24;
      else if (part.type === 'minute') minute = Number(part.value);
      else if (part.type === 'second') second = Number(part.value);
    }
    const ms = ((at % 1000) + 1000) % 1000;
    const msToNextHour = ((59 - minute) * 60 + (59 - second)) * 1000 + (1000 - ms);
    return { hour, msToNextHour };
  }
}
