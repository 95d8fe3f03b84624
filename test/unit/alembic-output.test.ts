import { currentOutput, parseHeads, parseHistory, revisionId } from '../../src/runtime/alembic-inspection';

const ALEMBIC_INFO = [
  'INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.',
  'INFO  [alembic.runtime.migration] Will assume transactional DDL.',
].join('\n');

const HISTORY = [
  '20251106_120000 -> 20251107_090000 (head), billing plans stripe price id',
  '<base> -> 20251106_120000, billing plans',
  '',
].join('\n');

describe('currentOutput', () => {
  test('`alembic current` at head: stdout is kept, alembic INFO logging on stderr is not', () => {
    expect(currentOutput('20251107_090000 (head)\n', `${ALEMBIC_INFO}\n`)).toBe('20251107_090000 (head)');
  });

  test('an empty database: empty stdout and only INFO lines on stderr -> null', () => {
    expect(currentOutput('', `${ALEMBIC_INFO}\n`)).toBeNull();
    expect(currentOutput('', '')).toBeNull();
  });

  test('stderr is used when stdout is empty and stderr has a real answer', () => {
    expect(currentOutput('\n', `${ALEMBIC_INFO}\n20251106_120000\n`)).toBe('20251106_120000');
  });

  test('INFO lines mixed into stdout are dropped too; CRLF output is handled', () => {
    expect(currentOutput(`${ALEMBIC_INFO.replace(/\n/g, '\r\n')}\r\n20251106_120000\r\n`, '')).toBe(
      '20251106_120000',
    );
  });
});

describe('revisionId', () => {
  test.each([
    ['20251107_090000 (head)', '20251107_090000'],
    ['20251106_120000', '20251106_120000'],
    ['ae1027a6acf (head) (mergepoint)', 'ae1027a6acf'],
    [`${ALEMBIC_INFO}\n20251107_090000 (head)`, '20251107_090000'],
  ])('%p -> %p', (output, expected) => {
    expect(revisionId(output)).toBe(expected);
  });

  test.each([null, '', "FAILED: Can't locate revision identified by 'x'"])('%p -> null', (output) => {
    expect(revisionId(output)).toBeNull();
  });
});

describe('parseHeads', () => {
  test('one head', () => {
    expect(parseHeads('20251107_090000 (head)\n')).toEqual(['20251107_090000']);
  });

  test('two heads, each named', () => {
    expect(parseHeads('20251107_090000 (head)\n20251107_100000_branch (head)\n')).toEqual([
      '20251107_090000',
      '20251107_100000_branch',
    ]);
  });

  test('no heads, INFO lines ignored', () => {
    expect(parseHeads(`${ALEMBIC_INFO}\n`)).toEqual([]);
  });
});

describe('parseHistory', () => {
  test('newest-first history becomes apply order, the current revision excluded', () => {
    expect(parseHistory(HISTORY, '20251106_120000')).toEqual([
      { revision: '20251107_090000', message: 'billing plans stripe price id' },
    ]);
  });

  test('from an empty database every revision is pending, oldest first', () => {
    expect(parseHistory(HISTORY, null)).toEqual([
      { revision: '20251106_120000', message: 'billing plans' },
      { revision: '20251107_090000', message: 'billing plans stripe price id' },
    ]);
  });

  test('at head nothing is pending when only the current line is printed', () => {
    expect(
      parseHistory(
        '20251106_120000 -> 20251107_090000 (head), billing plans stripe price id\n',
        '20251107_090000',
      ),
    ).toEqual([]);
  });

  test('branch labels, several markers and INFO lines are tolerated', () => {
    const out = `${ALEMBIC_INFO}\n20251106_120000 -> 20251108_000000 (billing) (head), add index, concurrently\n`;
    expect(parseHistory(out, null)).toEqual([
      { revision: '20251108_000000', message: 'add index, concurrently' },
    ]);
  });

  test('lines that are not history entries are ignored', () => {
    expect(parseHistory('nothing to see\n\n', null)).toEqual([]);
  });
});
