// Scores for generated text (short items: names, words): how close the character n-gram
// statistics are to held-out real items (Jensen-Shannon divergence, in bits, 0 to 1), how many
// samples copy a training item (memorized), how many are real items the model never saw (novel
// and valid: in the held-out split), and the length distribution. The same scores for a character
// n-gram model trained on the same split are the baseline a GAN should beat, and real training
// items against the held-out ones give the floor.
import type { TextCorpus } from "../data/text.js";
import { mulberry32 } from "../util/prng.js";

/** Counts of the character n-grams of "^item$" (the markers let n-grams see where items start and end). */
export function ngramCounts(items: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const s = `^${item}$`;
    for (let i = 0; i + n <= s.length; i++) {
      const g = s.slice(i, i + n);
      counts.set(g, (counts.get(g) ?? 0) + 1);
    }
  }
  return counts;
}

/** Jensen-Shannon divergence between two count tables, in bits: 0 for the same distribution, 1 for disjoint ones. */
export function jsd(p: Map<string, number>, q: Map<string, number>): number {
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const [tp, tq] = [total(p), total(q)];
  if (!tp || !tq) return 1;
  let d = 0;
  for (const key of new Set([...p.keys(), ...q.keys()])) {
    const a = (p.get(key) ?? 0) / tp;
    const b = (q.get(key) ?? 0) / tq;
    const m = (a + b) / 2;
    if (a) d += 0.5 * a * Math.log2(a / m);
    if (b) d += 0.5 * b * Math.log2(b / m);
  }
  return Math.max(0, Math.min(1, d));
}

export interface TextScores {
  count: number;
  /** JSD of the 1- to 4-gram distributions against the held-out items. */
  jsd: { 1: number; 2: number; 3: number; 4: number };
  /** Share of samples that are training items. */
  memorized: number;
  /** Share of samples that are held-out items: real, and never seen in training. */
  novelValid: number;
  /** Share of samples that are not training items (valid or not). */
  novel: number;
  /** Share of distinct samples. */
  unique: number;
  meanLength: number;
  /** JSD of the length distribution against the held-out items'. */
  lengthJsd: number;
}

/** Scores `samples` against a corpus's splits. */
export function textScores(samples: readonly string[], corpus: Pick<TextCorpus, "train" | "heldOut">): TextScores {
  const train = new Set(corpus.train);
  const heldOut = new Set(corpus.heldOut);
  const share = (f: (s: string) => boolean) => samples.filter(f).length / Math.max(1, samples.length);
  const lengths = (items: readonly string[]) => {
    const m = new Map<string, number>();
    for (const s of items) m.set(String(s.length), (m.get(String(s.length)) ?? 0) + 1);
    return m;
  };
  const g = (n: number) => jsd(ngramCounts(samples, n), ngramCounts(corpus.heldOut, n));
  return {
    count: samples.length,
    jsd: { 1: g(1), 2: g(2), 3: g(3), 4: g(4) },
    memorized: share((s) => train.has(s)),
    novelValid: share((s) => heldOut.has(s)),
    novel: share((s) => !train.has(s)),
    unique: new Set(samples).size / Math.max(1, samples.length),
    meanLength: samples.reduce((a, s) => a + s.length, 0) / Math.max(1, samples.length),
    lengthJsd: jsd(lengths(samples), lengths(corpus.heldOut)),
  };
}

/**
 * A character n-gram language model of `order` (the next character given the previous order - 1),
 * trained on `items`, with back-off to shorter contexts where a context was never seen; samples
 * items of up to maxLength characters. The classic baseline for character-level text GANs.
 */
export function ngramModel(items: readonly string[], order: number, maxLength: number) {
  // context (up to order - 1 characters, "^" padded) -> next character -> count
  const tables = new Map<string, Map<string, number>>();
  for (const item of items) {
    const s = `${"^".repeat(order - 1)}${item}$`;
    for (let i = order - 1; i < s.length; i++) {
      for (let k = 0; k < order; k++) {
        const context = s.slice(i - k, i);
        const next = tables.get(context) ?? new Map<string, number>();
        next.set(s[i], (next.get(s[i]) ?? 0) + 1);
        tables.set(context, next);
      }
    }
  }
  return {
    order,
    sample(n: number, seed = 0): string[] {
      const random = mulberry32(seed);
      const out: string[] = [];
      for (let j = 0; j < n; j++) {
        let s = "^".repeat(order - 1);
        let item = "";
        while (item.length < maxLength) {
          let table: Map<string, number> | undefined;
          for (let k = order - 1; k >= 0 && !table; k--) table = tables.get(s.slice(s.length - k));
          const entries = [...table!.entries()];
          let r = random() * entries.reduce((a, [, c]) => a + c, 0);
          let next = entries[entries.length - 1][0];
          for (const [c, count] of entries) {
            if ((r -= count) < 0) {
              next = c;
              break;
            }
          }
          if (next === "$") break;
          item += next;
          s += next;
        }
        out.push(item);
      }
      return out;
    },
  };
}

export interface TextReport {
  dataset: string;
  samples: TextScores;
  /** Character n-gram models of order 2 and 4 trained on the training split, sampled as many times. */
  baselines: { order: number; scores: TextScores }[];
  /** Real training items (as many as the samples, or all) against the held-out ones. */
  floor: TextScores;
}

export function evaluateText(samples: readonly string[], corpus: TextCorpus, dataset: string): TextReport {
  const n = samples.length;
  const baselines = [2, 4].map((order) => ({ order, scores: textScores(ngramModel(corpus.train, order, corpus.maxLength).sample(n, order), corpus) }));
  const random = mulberry32(1);
  const reals = Array.from({ length: Math.min(n, corpus.train.length) }, () => corpus.train[Math.floor(random() * corpus.train.length)]);
  return { dataset, samples: textScores(samples, corpus), baselines, floor: textScores(reals, corpus) };
}

export function formatTextReport(r: TextReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const f = (x: number) => x.toFixed(3);
  const row = (name: string, s: TextScores) =>
    `${name.padEnd(26)}${f(s.jsd[1]).padStart(7)}${f(s.jsd[2]).padStart(7)}${f(s.jsd[3]).padStart(7)}${f(s.jsd[4]).padStart(7)}${pct(s.memorized).padStart(11)}${pct(s.novelValid).padStart(14)}${pct(s.unique).padStart(8)}${s.meanLength.toFixed(2).padStart(9)}${f(s.lengthJsd).padStart(9)}`;
  return [
    `${r.dataset}: ${r.samples.count} samples against the held-out items (JSD in bits: 0 same, 1 disjoint; lower is better)`,
    `${"".padEnd(26)}${"JSD-1".padStart(7)}${"JSD-2".padStart(7)}${"JSD-3".padStart(7)}${"JSD-4".padStart(7)}${"memorized".padStart(11)}${"novel & valid".padStart(14)}${"unique".padStart(8)}${"mean len".padStart(9)}${"len JSD".padStart(9)}`,
    row("generator", r.samples),
    ...r.baselines.map((b) => row(`${b.order}-gram baseline`, b.scores)),
    row("real train items (floor)", r.floor),
  ].join("\n");
}
