// `npm run demo`: builds the worker (the page loads it from dist/), then starts the demo.
import { spawnSync } from 'node:child_process';

const run = (args) => {
  const result = spawnSync('npx', args, { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
run(['--no-install', 'vite', 'build', '--mode', 'worker', '--logLevel', 'warn']);
run(['--no-install', 'tsx', 'demo/start.ts']);
