/**
 * Certificates for TLS tests, made at test time with the `openssl` command (nothing is
 * committed): a CA, a server certificate for 127.0.0.1 and localhost, and a client certificate
 * for mutual TLS, all signed by the CA, P-256 keys, valid for two days.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One certificate and its private key, as PEM contents and as files. */
export interface CertificateFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly certPath: string;
  readonly keyPath: string;
}

/** What `makeTestCertificates` made. */
export interface TestCertificates {
  /** The temporary directory holding every file. */
  readonly dir: string;
  /** The CA; clients trust `ca.cert`, the replica checks client certificates against it. */
  readonly ca: CertificateFiles;
  /** For the replica: CN=localhost, SAN IP:127.0.0.1 and DNS:localhost. */
  readonly server: CertificateFiles;
  /** For a client under mutual TLS: CN=detour-test-client. */
  readonly client: CertificateFiles;
  /** Deletes `dir`. */
  remove(): Promise<void>;
}

const config = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = detour-test
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/**
 * Makes a CA, a server and a client certificate in a new temporary directory. Takes about
 * 50 ms. Call `remove()` when done.
 *
 * @throws Error when `openssl` is not on the PATH.
 */
export async function makeTestCertificates(): Promise<TestCertificates> {
  await run('openssl', ['version']).catch((error: unknown) => {
    throw new Error('makeTestCertificates needs the openssl command on the PATH', { cause: error });
  });
  const dir = await mkdtemp(join(tmpdir(), 'detour-certs-'));
  try {
    const configPath = join(dir, 'openssl.cnf');
    await writeFile(configPath, config);
    const openssl = (args: string[]): Promise<unknown> => run('openssl', args, { cwd: dir });
    const newKey = (name: string): Promise<unknown> =>
      openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name]);

    await newKey('ca.key');
    await openssl([
      ...['req', '-new', '-x509', '-config', configPath, '-key', 'ca.key'],
      ...['-subj', '/CN=detour test CA', '-days', '2', '-extensions', 'ca_ext', '-out', 'ca.crt'],
    ]);
    const issue = async (name: string, subject: string, extensions: string): Promise<void> => {
      await newKey(`${name}.key`);
      await openssl([
        ...['req', '-new', '-config', configPath, '-key', `${name}.key`],
        ...['-subj', subject, '-out', `${name}.csr`],
      ]);
      await openssl([
        ...['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key'],
        ...['-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2'],
        ...['-extfile', configPath, '-extensions', extensions, '-out', `${name}.crt`],
      ]);
    };
    await Promise.all([
      issue('server', '/CN=localhost', 'server_ext'),
      issue('client', '/CN=detour-test-client', 'client_ext'),
    ]);

    const files = async (name: string): Promise<CertificateFiles> => {
      const certPath = join(dir, `${name}.crt`);
      const keyPath = join(dir, `${name}.key`);
      const [cert, key] = await Promise.all([readFile(certPath), readFile(keyPath)]);
      return { cert, key, certPath, keyPath };
    };
    const [ca, server, client] = await Promise.all([files('ca'), files('server'), files('client')]);
    return { dir, ca, server, client, remove: () => rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
