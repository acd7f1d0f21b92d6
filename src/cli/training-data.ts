import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import type { HistoryReader } from '../core/connector.ts';
import type { Example } from '../core/model/train.ts';
import { maskCards } from '../core/redact.ts';
import { topicOfTags } from '../core/rules/topic.ts';

/**
 * Labeled messages to train on: files written by people (YAML or JSON Lines of `text` + `topic`),
 * or the tickets agents handled, their final tags mapped to topics. Card numbers are masked
 * before anything is kept.
 */

const Labeled = z.looseObject({
  text: z.string().min(1, 'empty text'),
  topic: z.string().regex(/^[a-z][a-z0-9_]*$/, 'a topic name: lowercase letters, digits, _'),
});
const LabeledSet = z.union([z.array(Labeled), z.looseObject({ messages: z.array(Labeled) }).transform((s) => s.messages)]);

function example(text: string, topic: string): Example {
  return { text: maskCards(text), topic };
}

/** A YAML file (a list, or `messages:` with a list) or a `.jsonl` file of `{ "text": …, "topic": … }`. */
export async function readLabeledFile(file: string): Promise<Example[]> {
  const text = await readFile(file, 'utf8');
  if (/\.jsonl$/i.test(file)) {
    const out: Example[] = [];
    for (const [i, line] of text.split('\n').entries()) {
      if (line.trim() === '') continue;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch (err) {
        throw new Error(`${file}:${i + 1}: not JSON: ${(err as Error).message}`);
      }
      const parsed = Labeled.safeParse(json);
      if (!parsed.success) throw new Error(`${file}:${i + 1}: ${parsed.error.issues[0]?.path.join('.') || 'line'}: ${parsed.error.issues[0]?.message}`);
      out.push(example(parsed.data.text, parsed.data.topic));
    }
    return out;
  }
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    throw new Error(`${file}: not YAML: ${(err as Error).message}`);
  }
  const parsed = LabeledSet.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: ${issue?.path.join('.') || 'top level'}: ${issue?.message ?? 'expected a list of { text, topic }'}`);
  }
  return parsed.data.map((m) => example(m.text, m.topic));
}

/** Tickets since `since`, each labeled by its tags through the config's `topics:` table. */
export async function readHelpdeskExamples(
  reader: HistoryReader,
  opts: { since: Date; topics: Readonly<Record<string, readonly string[]>>; onProgress?(count: number): void },
): Promise<{ examples: Example[]; tickets: number; empty: number }> {
  const examples: Example[] = [];
  let tickets = 0;
  let empty = 0;
  for await (const t of reader.tickets({ since: opts.since, onProgress: opts.onProgress })) {
    tickets++;
    const text = t.text.trim();
    if (text === '') {
      empty++;
      continue;
    }
    examples.push(example(text, topicOfTags(t.tags, opts.topics)));
  }
  return { examples, tickets, empty };
}
