// Runs a command while every core is kept busy (tests/busyLoops.ts):
//   npx tsx scripts/under-load.ts [--busy N] <command> [args...]
// for example the reliability suite: npx tsx scripts/under-load.ts npm run test:reliability
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { startBusyLoops } from '../tests/busyLoops.js';

const args = process.argv.slice(2);
let busy = availableParallelism();
if (args[0] === '--busy') {
  busy = Number(args[1]);
  args.splice(0, 2);
}
if (args.length === 0 || !Number.isInteger(busy) || busy < 0) {
  console.error('usage: npx tsx scripts/under-load.ts [--busy N] <command> [args...]');
  process.exit(2);
}
const stopLoops = startBusyLoops(busy);
console.log(`under-load: ${busy} busy loop(s) on ${availableParallelism()} core(s) while running: ${args.join(' ')}`);
const child = spawn(args[0]!, args.slice(1), { stdio: 'inherit' });
const stop = async (code: number) => {
  await stopLoops();
  console.log(`under-load: done (exit ${code}); the busy loops are stopped`);
  process.exit(code);
};
child.on('exit', (code, signal) => void stop(code ?? (signal ? 1 : 0)));
child.on('error', (error) => {
  console.error(`under-load: ${error.message}`);
  void stop(1);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
