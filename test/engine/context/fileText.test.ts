/**
 * Reading the files people add as context (engine/context/fileText.ts): text, Markdown and CSV as
 * they are, PDFs through pdfjs, and every file that cannot be read refused with its name and why.
 */
import { describe, expect, it } from 'vitest';
import { extractText, type FileText, kindOf } from '../../../src/engine/context/fileText.js';
import { minimalPdf } from '../../helpers/pdf.js';

const textPage = (...lines: string[]) =>
  `BT /F1 12 Tf 72 720 Td 14 TL ${lines.map((l) => `(${l}) Tj T*`).join(' ')} ET`;
/** A page that only paints a 2×2 grey image: what a scan looks like to a text extractor. */
const imagePage = () => 'q 200 0 0 200 72 500 cm BI /W 2 /H 2 /CS /G /BPC 8 ID \x80\x40\x20\xff EI Q';

const utf8 = (text: string) => new TextEncoder().encode(text);
const read = (name: string, mimetype: string, bytes: Uint8Array, options = {}) =>
  extractText({ name, mimetype, bytes }, options);
const refusal = (result: FileText) => {
  if (result.ok) throw new Error(`expected a refusal, got text: ${result.text.slice(0, 80)}`);
  return result.reason;
};

describe('extractText', () => {
  it('reads plain text, Markdown and CSV as they are, line endings made plain', async () => {
    const txt = await read('brief.txt', 'text/plain', utf8('Launch in Q3.\r\nBudget: 40k€.\r\n'));
    expect(txt).toEqual({ ok: true, kind: 'text', text: 'Launch in Q3.\nBudget: 40k€.', truncated: false });

    const md = await read('notes.md', 'text/plain', utf8('# Customers\n\n- **Acme**: churned in May\n'));
    expect(md).toMatchObject({ ok: true, kind: 'markdown', text: '# Customers\n\n- **Acme**: churned in May' });

    const csv = await read('prices.csv', 'text/csv', utf8('\uFEFFvendor,price\nOtter,16.99\nFireflies,18\n'));
    expect(csv).toMatchObject({ ok: true, kind: 'csv', text: 'vendor,price\nOtter,16.99\nFireflies,18' });
  });

  it('reads a CSV a spreadsheet exported in Windows-1252', async () => {
    const bytes = Uint8Array.from([...utf8('city,price\nK'), 0xf6, ...utf8('ln,12 '), 0x80, 0x0a]);
    expect(await read('export.csv', 'application/octet-stream', bytes)).toMatchObject({
      ok: true,
      text: 'city,price\nKöln,12 €',
    });
  });

  it('cuts text past maxChars and says so', async () => {
    const result = await read('long.txt', 'text/plain', utf8('x'.repeat(500)), { maxChars: 100 });
    expect(result).toMatchObject({ ok: true, truncated: true });
    expect(result.ok && result.text.length).toBe(100);
  });

  it('reads the text of a PDF, page after page', async () => {
    const pdf = minimalPdf([textPage('Quarterly revenue grew 12%', 'Churn fell to 3%'), textPage('Page two: risks')]);
    const result = await read('report.pdf', 'application/pdf', pdf);
    if (!result.ok) throw new Error(result.reason);
    expect(result.kind).toBe('pdf');
    expect(result.text).toContain('Quarterly revenue grew 12%');
    expect(result.text).toContain('Churn fell to 3%');
    expect(result.text.indexOf('Page two: risks')).toBeGreaterThan(result.text.indexOf('Churn fell'));
    expect(result.truncated).toBe(false);
  });

  it('stops reading a long PDF at maxChars', async () => {
    const pages = Array.from({ length: 30 }, (_, i) => textPage(`Page ${i + 1} ${'words '.repeat(20)}`));
    const result = await read('long.pdf', 'application/pdf', minimalPdf(pages), { maxChars: 400 });
    expect(result).toMatchObject({ ok: true, truncated: true });
    expect(result.ok && result.text.length).toBeLessThanOrEqual(400);
    expect(result.ok && result.text).not.toContain('Page 30');
  });

  it('refuses a PDF with no text layer, naming it and saying what to do', async () => {
    const reason = refusal(await read('scan-2024.pdf', 'application/pdf', minimalPdf([imagePage()])));
    expect(reason).toMatch(/^"scan-2024\.pdf" has no text layer/);
    expect(reason).toContain('paste the text in the notes');
  });

  it('refuses a damaged PDF and a file that only claims to be one', async () => {
    const damaged = minimalPdf([textPage('hello')]).slice(0, 60);
    expect(refusal(await read('broken.pdf', 'application/pdf', damaged))).toMatch(
      /^"broken\.pdf" is not a PDF that can be read/,
    );
    expect(refusal(await read('fake.pdf', 'application/pdf', utf8('just text')))).toMatch(/^"fake\.pdf" is not a PDF/);
  });

  it('refuses binary data named as text', async () => {
    const png = Uint8Array.from([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52,
    ]);
    expect(refusal(await read('diagram.txt', 'text/plain', png))).toBe(
      '"diagram.txt" does not look like text (it holds binary data), so it cannot be read.',
    );
  });

  it('refuses kinds it cannot read, with the kind and what it can', async () => {
    const docx = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0, 0]);
    const reason = refusal(await read('plan.docx', 'application/vnd.openxmlformats-officedocument', docx));
    expect(reason).toBe(
      '"plan.docx": .docx files cannot be read. Add plain text, Markdown, CSV or PDF, or paste the text in the notes.',
    );
    expect(refusal(await read('photo', 'image/png', docx))).toContain('Files of type image/png cannot be read');
  });

  it('refuses a file over the size limit with its size and the limit', async () => {
    const reason = refusal(
      await read('dump.csv', 'text/csv', new Uint8Array(3 * 1024 * 1024), { maxBytes: 2 * 1024 * 1024 }),
    );
    expect(reason).toBe('"dump.csv" is 3.0 MB, over the 2.0 MB limit for one file.');
  });

  it('refuses an empty file', async () => {
    expect(refusal(await read('empty.md', 'text/markdown', new Uint8Array()))).toBe('"empty.md" is empty.');
    expect(refusal(await read('blank.txt', 'text/plain', utf8(' \n\n ')))).toBe('"blank.txt" has no text in it.');
  });
});

describe('kindOf', () => {
  it('goes by the extension first, then the mimetype', () => {
    expect(kindOf('README.md', 'text/plain')).toBe('markdown');
    expect(kindOf('data.CSV', 'application/octet-stream')).toBe('csv');
    expect(kindOf('notes', 'text/markdown; charset=utf-8')).toBe('markdown');
    expect(kindOf('slides.pptx', 'application/pdf')).toBe('pdf');
    expect(kindOf('photo.png', 'image/png')).toBeNull();
  });
});
