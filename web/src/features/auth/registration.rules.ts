/** Client-side checks mirroring the API's register rules, so most mistakes show before a round trip. */
export interface RegistrationForm {
  username: string;
  email: string;
  password: string;
  confirm: string;
}

export function validateRegistration(form: RegistrationForm): Partial<Record<keyof RegistrationForm, string>> {
  const errors: Partial<Record<keyof RegistrationForm, string>> = {};
  const username = form.username.trim();
  if (username.length < 3 || username.length > 32) errors.username = 'Username must be 3–32 characters';
  else if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(username)) errors.username = 'Letters, digits, ".", "_" and "-", starting with a letter or digit';
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(form.email.trim())) errors.email = 'Enter a valid email address';
  if (form.password.length < 8) errors.password = 'Password must be at least 8 characters';
  if (form.confirm !== form.password) errors.confirm = 'Passwords do not match';
  return errors;
}
