export function loadImage(src: string): Promise<{ ok: boolean; width: number; height: number }>;
