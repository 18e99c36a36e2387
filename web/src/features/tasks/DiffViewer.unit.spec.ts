import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import DiffViewer from './DiffViewer.vue';

const patch = [
  'diff --git a/index.html b/index.html',
  '--- a/index.html',
  '+++ b/index.html',
  '@@ -1,2 +1,2 @@',
  ' <p>keep</p>',
  '-<img src=x onerror="alert(1)">',
  '+<script>alert(2)</script>',
  'diff --git a/b.txt b/b.txt',
  'new file mode 100644',
  '--- /dev/null',
  '+++ b/b.txt',
  '@@ -0,0 +1,3 @@',
  '+one',
  '+two',
  '+three',
].join('\n');

describe('DiffViewer', () => {
  it('shows each file with its counts and coloured, numbered lines', () => {
    const w = mount(DiffViewer, { props: { patch } });
    const files = w.findAll('[data-testid="diff-file"]');
    expect(files.map((f) => f.find('[data-testid="diff-path"]').text())).toEqual(['index.html', 'b.txt']);
    expect(files[1].find('.file-head').text()).toContain('added');
    expect(w.findAll('[data-testid="diff-summary"] > span').map((s) => s.text())).toEqual(['2 files', '+4', '−1']);
    const rows = files[0].findAll('tr.context, tr.add, tr.del');
    expect(rows.map((r) => r.classes().find((c) => ['context', 'add', 'del'].includes(c)))).toEqual(['context', 'del', 'add']);
    expect(rows.map((r) => r.findAll('td.no').map((td) => td.text()))).toEqual([
      ['1', '1'],
      ['2', ''],
      ['', '2'],
    ]);
  });

  it('renders the patch’s HTML as text, never as elements', () => {
    const w = mount(DiffViewer, { props: { patch } });
    expect(w.find('img').exists()).toBe(false);
    expect(w.find('script').exists()).toBe(false);
    expect(w.text()).toContain('<img src=x onerror="alert(1)">');
    expect(w.text()).toContain('<script>alert(2)</script>');
  });

  it('collapses and expands a file from its header', async () => {
    const w = mount(DiffViewer, { props: { patch } });
    const head = () => w.findAll('[data-testid="diff-file"]')[0].find('.file-head');
    expect(head().attributes('aria-expanded')).toBe('true');
    await head().trigger('click');
    expect(head().attributes('aria-expanded')).toBe('false');
    expect(w.findAll('[data-testid="diff-file"]')[0].find('table').exists()).toBe(false);
    expect(w.findAll('[data-testid="diff-file"]')[1].find('table').exists()).toBe(true);
    await head().trigger('click');
    expect(w.findAll('[data-testid="diff-file"]')[0].find('table').exists()).toBe(true);
  });

  it('renders at most maxLines lines, says so, and offers the download', async () => {
    const w = mount(DiffViewer, { props: { patch, maxLines: 4 } });
    expect(w.findAll('tr.context, tr.add, tr.del')).toHaveLength(4);
    expect(w.find('[data-testid="diff-capped"]').text()).toContain('first 4 of 6 lines');
    expect(w.find('[data-testid="diff-file-truncated"]').exists()).toBe(true);
    await w.find('[data-testid="diff-capped"] button').trigger('click');
    expect(w.emitted('download')).toHaveLength(1);
  });
});
