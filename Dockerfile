FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx vite build
ENV PORT=8080
EXPOSE 8080
CMD ["npx", "tsx", "server/main.ts"]
