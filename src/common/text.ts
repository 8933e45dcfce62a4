/** C0 control characters and DEL: never part of a name (PostgreSQL also refuses NUL in text). */
export const hasControlCharacters = (value: string): boolean => /[\u0000-\u001f\u007f]/.test(value);
