// Bounds of a `git push` test build, so a compressed blob bomb cannot be multiplied across the push repo, the source
// checkout, the build copy, the layers and the release: read in src/settings/ (the pack a push may send, git's
// receive.maxInputSize; what the pushed tree holds once checked out, checked from the objects' sizes first).
export { pushMaxBytes, pushMaxCheckoutBytes } from '../settings/agent-settings.js';
