/**
 * Mozilla's "intermediate" TLS configuration (version 5.7): TLS 1.2 and 1.3 only, these TLS 1.2 suites (TLS 1.3's
 * are all fine and Node/OpenSSL's defaults), the server's order not forced (every suite here is strong).
 */
export const MOZILLA_INTERMEDIATE_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
  'DHE-RSA-CHACHA20-POLY1305',
].join(':');

export const TLS_MIN_VERSION = 'TLSv1.2' as const;
export const TLS_MAX_VERSION = 'TLSv1.3' as const;

/** Elliptic curves offered for key exchange (Mozilla intermediate). */
export const TLS_CURVES = 'X25519:prime256v1:secp384r1';

/** Strict-Transport-Security for HTTPS_ONLY services: one year, as Mozilla's guidelines suggest. */
export const HSTS = 'max-age=31536000';
