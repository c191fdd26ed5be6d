import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './packedPackage.js';

// Every link from the README and between the pages of docs/ points somewhere: a file of the
// checkout, and where it names a heading, a heading of that page (GitHub's anchors).

const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's anchor for a heading: lower case, punctuation dropped but for hyphens, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown page's headings, outside code blocks. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const match = !fenced && /^#{1,6} (.+)$/.exec(line);
    if (match) anchors.add(anchorOf(match[1]!));
  }
  return anchors;
}

/** Relative link targets of a page (inline links and images), outside code blocks and code spans. */
function linksOf(text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((target) => !/^[a-z]+:/i.test(target));
}

describe('links in the README and docs/', () => {
  it('finds the pages the README promises', () => {
    for (const page of ['api', 'deploying', 'migrating', 'encrypted-media', 'media-store', 'protocol', 'homeservers', 'performance', 'reliability', 'testing']) {
      expect(PAGES, page).toContain(`docs/${page}.md`);
    }
  });

  it('reads anchors as GitHub makes them', () => {
    expect(anchorOf("The security review's guarantees")).toBe('the-security-reviews-guarantees');
    expect(anchorOf('`registerMediaWorker` options')).toBe('registermediaworker-options');
    expect(anchorOf('The handle: `MediaWorker`')).toBe('the-handle-mediaworker');
  });

  for (const page of PAGES) {
    it(`${page}: every relative link resolves`, () => {
      const text = readFileSync(join(ROOT, page), 'utf8');
      const broken: string[] = [];
      for (const link of linksOf(text)) {
        const [path, anchor] = link.split('#') as [string, string | undefined];
        const target = path === '' ? join(ROOT, page) : join(ROOT, dirname(page), decodeURIComponent(path));
        if (!existsSync(target)) {
          broken.push(`${link}: no file ${relative(ROOT, target)}`);
          continue;
        }
        if (anchor !== undefined && target.endsWith('.md') && !anchorsOf(readFileSync(target, 'utf8')).has(anchor)) {
          broken.push(`${link}: no heading #${anchor} in ${relative(ROOT, target)}`);
        }
      }
      expect(broken).toEqual([]);
    });
  }
});
