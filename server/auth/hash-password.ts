// npm run hash-password -- <password>   → a bcrypt hash for config/users.yaml
import bcrypt from 'bcryptjs';

const password = process.argv[2];
if (!password) {
  process.stderr.write('usage: npm run hash-password -- <password>\n');
  process.exit(2);
}
process.stdout.write(`${bcrypt.hashSync(password, 12)}\n`);
