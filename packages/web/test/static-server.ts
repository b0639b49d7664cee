export { startStaticServer, type StaticServer } from '../node/static-server.ts';
