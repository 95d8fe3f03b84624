export { releaseDb } from './release-db';
