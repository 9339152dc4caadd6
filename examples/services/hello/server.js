// The example service: answers every request with a greeting, the path it saw and where it came from.
const http = require('node:http');

const port = Number(process.env.PORT || 3000);
http
  .createServer((req, res) => {
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end(`Hello from starphleet!\npath: ${req.url}\ndeployed: ${process.env.STARPHLEET_DEPLOY_TIME || '-'}\nfrom: ${process.env.STARPHLEET_DEPLOY_GITURL || '-'}\ngreeting: ${process.env.GREETING || '-'}\n`);
  })
  .listen(port, () => console.log(`hello listening on ${port}`));
