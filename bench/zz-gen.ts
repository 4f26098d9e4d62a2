import * as fs from 'node:fs';
import { generateTree } from './context-sync';
const dir = process.argv[2];
fs.mkdirSync(dir, { recursive: true });
const t = Date.now();
console.log(generateTree(dir, Number(process.argv[3]), Number(process.argv[4]) * 1048576), Date.now() - t, 'ms');
