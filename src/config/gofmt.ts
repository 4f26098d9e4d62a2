/**
 * A YAML value as werf prints it where it formats `interface{}` values with Go's fmt (`%v`), e.g. a
 * list in a Dockerfile image's `args:` becomes `[1 2]`, a mapping `map[a:1 b:x]`: the node is read
 * the way yaml.v2 reads it (plain scalars resolved to int/float/bool/null, `map[interface {}]interface {}`)
 * and printed by the template engine's fmt.
 */
import { Scalar, isMap, isScalar, isSeq } from 'yaml';
import { sprintValue } from '../template/fmt';
import { resolvePlain } from '../template/yaml';
import { GoList, GoMap, Value } from '../template/value';
import { At, entries, seqItems } from './yamlnode';

function goValue(at: At): Value {
  const n = at.node;
  if (n === null) return null;
  if (isSeq(n)) return new GoList(seqItems(at).map(goValue));
  if (isMap(n)) {
    const m = new GoMap('interface {}', 'interface {}');
    for (const e of entries(at)) m.set(resolvePlain(e.key).v ?? null, goValue(e.value));
    return m;
  }
  if (isScalar(n)) {
    const s = n as Scalar & { source?: string };
    if (s.type === 'PLAIN' && typeof s.source === 'string') return resolvePlain(s.source).v ?? null;
    return s.value === null || s.value === undefined ? null : String(s.value);
  }
  return null;
}

/** fmt.Sprint of the YAML value at `at`. */
export function goSprintYaml(at: At): string {
  return sprintValue(goValue(at));
}
