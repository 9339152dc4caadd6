{
  # The one native addon of starphleet: SO_PEERCRED for the control sockets (native/peer-cred.c). Built by npm's
  # node-gyp at install (npm ci, npm install -g) and by `npm run build` (an update that reuses node_modules).
  'targets': [
    {
      'target_name': 'peer_cred',
      'sources': ['native/peer-cred.c'],
      'cflags': ['-Wall', '-Wextra', '-O2'],
    },
  ],
}
