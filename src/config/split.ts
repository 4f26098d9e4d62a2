/**
 * Split rendered werf.yaml into documents the way werf does (a line-based splitter, not the YAML
 * stream parser): a separator is a line starting with `---` followed only by spaces, tabs, a CR
 * and/or a `#` comment. Documents holding nothing but blank lines and comments are dropped.
 */

export interface RawDoc {
  text: string;
  /** 0-based index of the document's first line in the rendered text. */
  startLine: number;
  /** 1-based ordinal among the kept documents. */
  index: number;
}

const SEPARATOR = /^---[ \t\r]*(#.*)?$/;
const EMPTY_LINE = /^[ \t\r]*(#.*)?$/;

export function splitDocuments(rendered: string): RawDoc[] {
  const lines = rendered.split('\n');
  const docs: RawDoc[] = [];
  let start = 0;
  const flush = (end: number) => {
    const docLines = lines.slice(start, end);
    if (docLines.some((l) => !EMPTY_LINE.test(l))) {
      docs.push({ text: docLines.join('\n') + '\n', startLine: start, index: docs.length + 1 });
    }
  };
  for (let i = 0; i < lines.length; i++) {
    if (SEPARATOR.test(lines[i])) {
      flush(i);
      start = i + 1;
    }
  }
  flush(lines.length);
  return docs;
}
