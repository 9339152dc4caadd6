/**
 * Debian's python3 (.ci/run installs it with python3-paramiko and python3-asyncssh): what the tests' scripts and
 * clients run. A version manager's shim first on PATH (pyenv's) may hide those packages, and starts ~10 bash
 * processes before python on every call (~0.1 CPU-s each).
 */
export const PYTHON = '/usr/bin/python3';
