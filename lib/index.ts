// Public entry point of the `dragon-pbx` package (createPbx and types land here with the PBX layer).
export const VERSION = '0.1.0';
