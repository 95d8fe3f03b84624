import { displayIdentity, normalizeIdentity, sameIdentity } from '../../src/release/identity';
import { identityFlag } from '../../src/cli/input';

describe('normalizeIdentity', () => {
  test.each([
    ['case', 'Alice'],
    ['upper case', 'ALICE'],
    ['zero-width space', 'ali\u200Bce'],
    ['word joiner and BOM', '\uFEFFal\u2060ice'],
    ['soft hyphen', 'al\u00ADice'],
    ['bidi marks', '\u200Ealice\u200F'],
    ['full-width letters (NFKC)', 'ａｌｉｃｅ'],
    ['surrounding white space and a no-break space', '\u00A0 alice\t'],
    ['variation selector', 'alice\uFE0F'],
    ['Hangul filler', 'ali\u3164ce'],
    ['control characters', 'ali\u0007ce\u0000'],
  ])('%s is the same person as "alice"', (_label, name) => {
    expect(normalizeIdentity(name)).toBe('alice');
    expect(sameIdentity(name, 'alice')).toBe(true);
  });

  test('case folding goes beyond lower-casing (ß, final sigma)', () => {
    expect(normalizeIdentity('Straße')).toBe(normalizeIdentity('STRASSE'));
    expect(sameIdentity('ΟΔΥΣΣΕΥΣ', 'οδυσσευς')).toBe(true);
  });

  test('different people stay different; empty and invisible names match nobody', () => {
    expect(sameIdentity('alice', 'alicia')).toBe(false);
    expect(sameIdentity('', '')).toBe(false);
    expect(sameIdentity('\u200B', '\u2060')).toBe(false);
    expect(normalizeIdentity('\u200B\u200C\u200D\uFEFF \t')).toBe('');
  });

  test('the display form keeps case but drops invisible characters and extra spaces', () => {
    expect(displayIdentity('  Bob\u200B  Smith ')).toBe('Bob Smith');
  });
});

describe('identityFlag', () => {
  test.each(['', '   ', '\u200B', '\u2060\uFEFF'])(
    'an empty or invisible name (%p) is bad input (exit 2), naming the flag',
    (value) => {
      let thrown: unknown;
      try {
        identityFlag('--operator', value);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({ name: 'CliError', exitCode: 2 });
      expect((thrown as Error).message).toContain('--operator');
    },
  );

  test('a name is cleaned', () => {
    expect(identityFlag('--approver', ' bob\u200B ')).toBe('bob');
  });
});
