/**
 * Just enough of a terminal to read back what a live display left on it: printable text with
 * auto-wrap at the width, CR/LF, cursor-previous-line (ESC[nF, clamped at the top of the screen:
 * a terminal cannot move the cursor into its scrollback) and erase-below (ESC[J). Other escape
 * sequences (colours, cursor visibility) are skipped. Rows that scrolled off the screen stay in
 * `transcript()`, as in a terminal's scrollback.
 */
export class TerminalScreen {
  private readonly rowsText: string[] = [''];
  private row = 0;
  private col = 0;

  constructor(
    readonly columns: number,
    readonly height: number,
  ) {}

  /** The first row of the visible screen; rows above it are scrollback. */
  private top(): number {
    return Math.max(0, this.rowsText.length - this.height);
  }

  private newline(): void {
    this.row += 1;
    if (this.row >= this.rowsText.length) this.rowsText.push('');
    this.col = 0;
  }

  private put(ch: string): void {
    if (this.col >= this.columns) this.newline(); // auto-wrap, as xterm does on the next character
    const line = (this.rowsText[this.row] ?? '').padEnd(this.col, ' ');
    this.rowsText[this.row] = line.slice(0, this.col) + ch + line.slice(this.col + 1);
    this.col += 1;
  }

  write(data: string): void {
    for (let i = 0; i < data.length; i++) {
      const ch = data[i] ?? '';
      if (ch === '\x1b') {
        const match = /^\x1b\[([?0-9;]*)([A-Za-z])/.exec(data.slice(i));
        if (!match) continue;
        i += match[0].length - 1;
        const n = Number((match[1] ?? '').replace('?', '') || '1');
        if (match[2] === 'F') {
          this.row = Math.max(this.top(), this.row - n);
          this.col = 0;
        } else if (match[2] === 'J' && (match[1] ?? '') !== '2') {
          this.rowsText[this.row] = (this.rowsText[this.row] ?? '').slice(0, this.col);
          for (let r = this.row + 1; r < this.rowsText.length; r++) this.rowsText[r] = '';
        }
        continue;
      }
      if (ch === '\r') this.col = 0;
      else if (ch === '\n') this.newline();
      else if (ch >= ' ') this.put(ch);
    }
  }

  /** Every row written, scrollback included, trailing blanks dropped. */
  transcript(): string[] {
    const rows = this.rowsText.map((r) => r.trimEnd());
    while (rows.length > 0 && rows[rows.length - 1] === '') rows.pop();
    return rows;
  }

  /** The rows now on screen. */
  screen(): string[] {
    return this.rowsText.slice(this.top()).map((r) => r.trimEnd());
  }
}
