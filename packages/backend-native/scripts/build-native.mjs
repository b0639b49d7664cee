// Compiles csrc/*.c into build/tinyllama_native.node, a Node-API addon, with the system C compiler
// (`CC`, else cc, gcc or clang) against Node's own headers (`<node prefix>/include/node`, or
// NODE_INCLUDE_DIR). Only x86-64 Linux is built: the kernels need AVX512-VNNI (AMX-INT8 is used when
// present), checked again at run time. Where it cannot build, it says why and exits 0: the
// native-kernels backend then reports itself unavailable and the runtime uses the others.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build', 'tinyllama_native.node');
const say = (msg) => process.stderr.write(`build-native: ${msg}\n`);

if (process.platform !== 'linux' || process.arch !== 'x64') {
  say(`skipped: the native kernels are built for x86-64 Linux only (this is ${process.platform}-${process.arch})`);
  process.exit(0);
}
const include = process.env.NODE_INCLUDE_DIR ?? join(dirname(dirname(process.execPath)), 'include', 'node');
if (!existsSync(join(include, 'node_api.h'))) {
  say(`skipped: Node's headers were not found in ${include} (set NODE_INCLUDE_DIR)`);
  process.exit(0);
}
function has(cmd) {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const cc = [process.env.CC, 'cc', 'gcc', 'clang'].find((c) => c && has(c));
if (!cc) {
  say('skipped: no C compiler (cc, gcc or clang); apt-get install gcc');
  process.exit(0);
}
const csrc = join(root, 'csrc');
const sources = readdirSync(csrc).filter((f) => f.endsWith('.c')).sort().map((f) => join(csrc, f));
mkdirSync(dirname(out), { recursive: true });
const tmp = `${out}.tmp`;
const args = [
  '-O3', '-std=gnu11', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', '-pthread', '-fvisibility=hidden',
  `-I${include}`, '-DNODE_GYP_MODULE_NAME=tinyllama_native', ...sources, '-o', tmp, '-lm',
];
try {
  execFileSync(cc, args, { stdio: ['ignore', 'inherit', 'inherit'] });
} catch (e) {
  say(`failed: ${cc} ${args.join(' ')}: ${e.message}`);
  process.exit(1);
}
renameSync(tmp, out);
say(`built ${out} with ${cc}`);
