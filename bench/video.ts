import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The benchmark's large video: about 200 MB of VP8 WebM made by ffmpeg from synthetic sources
 * (a high bitrate over noise), cached under .cache/bench. Debian's ffmpeg is installed where
 * missing, as the browsers are.
 */

const ROOT = resolve(import.meta.dirname, '..');

export function largeVideo(megabytes: number): Buffer {
  const dir = resolve(ROOT, '.cache/bench');
  const file = resolve(dir, `video-${megabytes}mb.webm`);
  if (existsSync(file) && statSync(file).size > megabytes * 0.8 * 1024 * 1024) return readFileSync(file);
  if (spawnSync('ffmpeg', ['-version']).status !== 0) {
    const apt = spawnSync('bash', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg'], { stdio: 'inherit' });
    if (apt.status !== 0) throw new Error('The video benchmark needs ffmpeg: apt-get install -y ffmpeg');
  }
  mkdirSync(dir, { recursive: true });
  const seconds = 40;
  const bitrate = Math.round((megabytes * 8 * 1024 * 1024) / seconds);
  const result = spawnSync(
    'ffmpeg',
    [
      '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=25:duration=${seconds},noise=alls=60:allf=t`,
      '-c:v', 'libvpx', '-b:v', String(bitrate), '-minrate', String(bitrate), '-maxrate', String(bitrate), '-bufsize', String(bitrate),
      '-g', '25', '-deadline', 'realtime', '-cpu-used', '8', '-an',
      file,
    ],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) throw new Error('ffmpeg could not make the benchmark video');
  return readFileSync(file);
}
