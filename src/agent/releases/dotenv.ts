// The parser lives in util/dotenv.ts since HQ reads dotenv files too (`<path>/previews.env`): one parser for every
// dotenv file the ship reads, and headquarters/ may not import agent/.
export { parseDotenv, type Dotenv, type DotenvProblem } from '../../util/dotenv.js';
