// Package securefile is the one implementation of private file I/O in
// awsoidc: the credentials store of package cache and the device-flow token
// store both keep their secrets through it, so the rules below hold in one
// place.
//
// The rules:
//   - Files are 0600 inside a 0700 directory ([EnsureDir]). A directory that
//     is not a directory, is writable by group or others, or (on Unix) is not
//     owned by the current user is refused.
//   - Writes are atomic ([WriteFile]): a temporary file in the same
//     directory, fsync, rename over the target, fsync of the directory. A
//     reader sees the old content or the new one, never a mix, and a failed
//     write leaves the old file and no temporary file behind.
//   - A writer killed between its write and its rename leaves its temporary
//     file, and the secret in it: the next [WriteFile] of the same file
//     removes it, and [RemoveStaleTemps] those of a whole directory. Each
//     writer holds an flock(2) on its temporary file until after the rename,
//     and only a file whose flock is free is removed, so a live writer's
//     file never is.
//   - Reads ([ReadFile]) refuse a symlink or any other non-regular file in
//     place of the file (a planted symlink), a file that group or others may
//     access, and a file larger than the caller's limit.
//   - Read-modify-write sequences run under a cross-process lock ([Lock]) on
//     a sibling file path+".lock", held with github.com/gofrs/flock (flock(2)
//     on Unix, LockFileEx on Windows), so the operating system drops it when a
//     process dies: there is no stale lock to clean up.
//
// Every error is an [*Error] naming the operation, the path and, for a
// refusal, the rule and what to do; it never contains file content. Match
// refusals with [errors.Is] and the sentinels [ErrSymlink], [ErrNotRegular],
// [ErrNotDir], [ErrInsecureMode], [ErrNotOwner] and [ErrTooLarge], and a
// missing file with [os.ErrNotExist].
//
// On Windows the permission and owner checks are skipped: Go reports only the
// read-only attribute in Windows mode bits, and files inherit the access
// control list of the user's profile directory, which is private by default.
// The symlink checks still apply, but without O_NOFOLLOW they are best effort
// (an Lstat before the open).
package securefile
