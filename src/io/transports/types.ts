/** A byte stream to the host agent, whatever carries it (virtio-serial, unix, TCP). */
export interface ByteStream {
  /** Queue bytes; never throws (a dead stream reports through onClose). */
  write(data: string): void;
  close(): void;
}

export interface StreamHandlers {
  onData(chunk: Buffer): void;
  /** Called once, when the peer is gone or the stream failed. */
  onClose(reason: string): void;
}

/** Opens one stream; rejects when the host side is not there (the caller backs off). */
export type Connector = (handlers: StreamHandlers) => Promise<ByteStream>;
