/**
 * Differential fuzzing with fixed seeds: random nested function calls and control structures must
 * render exactly like the Go oracle (errors included).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ORACLE_MISSING, ensureOracle, runOracleBatch, runOurs } from '../../template-oracle/corpus';
import { binaryFuzzCases, fuzzCases, isRangeOverIntDifference, regexFuzzCases, valueFuzzCases } from '../../template-oracle/fuzz';
import { Case } from '../../template-oracle/corpus';

const oracle = ensureOracle();
if (!oracle) console.log(`template fuzz skipped: ${ORACLE_MISSING}`);
const fuzzTest = oracle ? test : test.skip;

function compare(cases: Case[]): string[] {
  const go = runOracleBatch(oracle!, cases);
  const problems: string[] = [];
  for (const c of cases) {
    const g = go.get(c)!;
    if (!g.ok && isRangeOverIntDifference(g.error)) continue; // Go 1.22 range-over-int: intended
    const o = runOurs(c);
    // outputs compared byte for byte (binary contents may be printed)
    const same = g.ok && o.ok ? g.bytes!.equals(o.bytes!) : !g.ok && !o.ok ? g.error === o.error : false;
    if (!same) problems.push(`${c.template}\n  go:   ${JSON.stringify(g)}\n  ours: ${JSON.stringify(o)}`);
  }
  return problems;
}

for (const seed of [1, 2, 3]) {
  fuzzTest(`fuzz seed ${seed}: 200 random templates match the oracle`, () => {
    const problems = compare(fuzzCases(seed, 200));
    if (problems.length) assert.unreachable(`${problems.length} mismatches:\n` + problems.slice(0, 5).join('\n'));
  });
}

for (const seed of [1, 2]) {
  fuzzTest(`value fuzz seed ${seed}: toYaml/toJson/fromYaml/printf of 150 random values match the oracle`, () => {
    const problems = compare(valueFuzzCases(seed, 150));
    if (problems.length) assert.unreachable(`${problems.length} mismatches:\n` + problems.slice(0, 5).join('\n'));
  });
}

for (const seed of [1, 2, 3]) {
  test(`regexp fuzz seed ${seed}: 300 random RE2 patterns (valid and not) match the oracle`, () => {
    assert.ok(oracle, 'Go oracle unavailable');
    const problems = compare(regexFuzzCases(seed, 300));
    if (problems.length) assert.unreachable(`${problems.length} mismatches:\n` + problems.slice(0, 8).join('\n'));
  });
}

for (const seed of [1, 2]) {
  test(`binary fuzz seed ${seed}: random templates over invalid-UTF-8 file contents match the oracle byte for byte`, () => {
    assert.ok(oracle, 'Go oracle unavailable');
    const problems = compare(binaryFuzzCases(seed, 200));
    if (problems.length) assert.unreachable(`${problems.length} mismatches:\n` + problems.slice(0, 8).join('\n'));
  });
}

test.run();
