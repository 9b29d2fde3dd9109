// Load the posts from the JSON API once the page is there.
fetch("/posts")
  .then((response) => response.json())
  .then((posts) => {
    const feed = document.getElementById("feed");
    for (const post of posts) {
      const item = document.createElement("li");
      item.textContent = `${post.title} by ${post.author}`;
      feed.appendChild(item);
    }
    document.getElementById("status").textContent = `${posts.length} post(s)`;
  });
