FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY lua ./lua
COPY drizzle ./drizzle
COPY src ./src
USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "src/main.ts"]
