FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# the screen (dist/screen) and the server and processor bundles (dist/node): plain JavaScript at run time
RUN npm run build
ENV PORT=8080
EXPOSE 8080
CMD ["node", "dist/node/server/main.js"]
