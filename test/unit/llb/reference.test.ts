/** Image reference normalisation (docker's ParseNormalizedNamed + TagNameOnly) and platforms. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { normalizeImageRef, parsePlatform, formatPlatform } from '../../../src/llb';
import { isStapelkitError } from '../../../src/errors';

const D = 'sha256:' + 'ab'.repeat(32);

const CASES: [string, string][] = [
  ['alpine', 'docker.io/library/alpine:latest'],
  ['golang:alpine', 'docker.io/library/golang:alpine'],
  ['hob/busybox:1', 'docker.io/hob/busybox:1'],
  ['docker.io/alpine', 'docker.io/library/alpine:latest'],
  ['docker.io/library/alpine:3.18', 'docker.io/library/alpine:3.18'],
  ['index.docker.io/library/alpine:3', 'docker.io/library/alpine:3'],
  ['localhost:5000/x', 'localhost:5000/x:latest'],
  ['localhost/x', 'localhost/x:latest'],
  ['registry.example.com:5000/ns/app', 'registry.example.com:5000/ns/app:latest'],
  ['ghcr.io/werf/app:v1.2_RC', 'ghcr.io/werf/app:v1.2_RC'],
  [`alpine@${D}`, `docker.io/library/alpine@${D}`],
  [`alpine:3.18@${D}`, `docker.io/library/alpine:3.18@${D}`],
  ['my-org/my__app', 'docker.io/my-org/my__app:latest'],
];

for (const [input, want] of CASES) {
  test(`normalize ${input}`, () => {
    assert.is(normalizeImageRef(input), want);
  });
}

const BAD: [string, RegExp][] = [
  ['', /empty/],
  ['Alpine', /lowercase/],
  ['ab'.repeat(32), /64-byte/],
  ['alpine:', /grammar/],
  ['alp ine', /grammar/],
  ['alpine@sha256:abc', /grammar/],
  ['-alpine', /grammar/],
];

for (const [input, re] of BAD) {
  test(`reject ${JSON.stringify(input)}`, () => {
    try {
      normalizeImageRef(input);
    } catch (e) {
      assert.ok(isStapelkitError(e));
      assert.is((e as { code: string }).code, 'LLB_INVALID_IMAGE_REF');
      assert.match((e as Error).message, re);
      return;
    }
    assert.unreachable('accepted');
  });
}

test('platforms are normalised like containerd', () => {
  assert.is(formatPlatform(parsePlatform('linux/arm64/v8')), 'linux/arm64');
  assert.is(formatPlatform(parsePlatform('linux/x86_64')), 'linux/amd64');
  assert.is(formatPlatform(parsePlatform('linux/arm')), 'linux/arm/v7');
  assert.is(formatPlatform(parsePlatform('linux/amd64/v1')), 'linux/amd64');
  assert.is(formatPlatform(parsePlatform({ os: 'linux', architecture: 'aarch64' })), 'linux/arm64');
  assert.throws(() => parsePlatform('linux'), /invalid platform/);
});

test.run();
