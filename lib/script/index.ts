// CallScripts: validation of hook replies into typed verbs (the executor lands here with the call engine).
export {
  CallScriptError,
  parseCallScript,
  type AnnounceVerb,
  type CallScript,
  type ConnectVerb,
  type Dest,
  type DestType,
  type PauseVerb,
  type ResponseVerb,
  type StatusLabel,
  type Verb,
} from './callscript.js';
