/** Block alignment: the host plugs and unplugs whole device blocks, so every size is a multiple. */
export function alignUp(bytes: number, blockBytes: number): number {
  if (blockBytes <= 0) return bytes;
  return Math.ceil(bytes / blockBytes) * blockBytes;
}

export function alignDown(bytes: number, blockBytes: number): number {
  if (blockBytes <= 0) return bytes;
  return Math.floor(bytes / blockBytes) * blockBytes;
}

export function clamp(value: number, lo: number, hi: number): number {
  return Math.min(Math.max(value, lo), hi);
}
