/** An archive the ship will not unpack: the message names the archive and, when one is at fault, the member. */
export class ArchiveRefused extends Error {
  constructor(
    readonly archive: string,
    readonly member: string | null,
    readonly reason: string,
  ) {
    super(`${archive}: ${member === null ? '' : `member ${JSON.stringify(member.slice(0, 300))}: `}${reason}`);
    this.name = 'ArchiveRefused';
  }
}
