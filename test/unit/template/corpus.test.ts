/**
 * Differential test: every case in test/template-corpus must render byte for byte like the Go oracle
 * (real text/template + Sprig v3.2.3 + werf's functions), errors included; cases marked `intended`
 * are checked against their stated expectation instead.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ORACLE_MISSING, checkCase, ensureOracle, loadCorpus, runOracleBatch } from '../../template-oracle/corpus';

const cases = loadCorpus();
const oracle = ensureOracle();
// One oracle process renders every case that is compared against Go.
const goResults = oracle ? runOracleBatch(oracle, cases.filter((c) => !c.intended)) : new Map();

test('corpus has at least 150 cases', () => {
  assert.ok(cases.length >= 150, `only ${cases.length} cases`);
});

if (!oracle) console.log(`Go-compared corpus cases skipped: ${ORACLE_MISSING}`);

for (const c of cases) {
  // Without Go only the `intended` cases (checked against their stated expectation) can run.
  (oracle || c.intended ? test : test.skip)(`${c.file}: ${c.name}`, () => {
    const problem = checkCase(c, oracle, goResults.get(c));
    if (problem) assert.unreachable(problem);
  });
}

test.run();
