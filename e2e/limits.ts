/** The limits `ferry serve` runs with during the journeys (shared by setup and tests). */
export const MiB = 1024 * 1024;

export const LIMITS = {
  /** Just above the 100 MiB file of the upload journey. */
  maxFileSize: 110 * MiB,
  /** Fits one 100 MiB file and a few small ones; two 100 MiB files do not fit. */
  userQuota: 150 * MiB,
  /** Above this a file goes up in parts: the 100 MiB file does, the 60 MiB one of the quota journey does not. */
  multipartThreshold: 64 * MiB,
};
