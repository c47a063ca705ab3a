/** The certificate and key a replica serves TLS with, read from the files named on its command line. */

/** PEM contents for a TLS replica; the same material serves gRPC and HTTP. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** CA that client certificates must chain to; required with `requireClientCert`. */
  readonly ca?: Buffer;
  /** Mutual TLS: reject clients that present no certificate signed by `ca`. */
  readonly requireClientCert: boolean;
}
